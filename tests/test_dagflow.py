"""DAG-flow encoder: topological levels, the level-batched passes against a per-node reference,
batch independence, long-range influence, the predictor with ``kind="dagflow"``, config errors.

No benchmark data needed: the CGs are built by the NB201 space or by hand.
"""

import random

import numpy as np
import pytest
import torch

import cgnas
from cgnas.data.graphset import GraphBatch, GraphSet
from cgnas.errors import CgnasError
from cgnas.graph.builder import GraphBuilder
from cgnas.graph.ops import OPS
from cgnas.model import EncoderConfig, Predictor, PredictorConfig, PredictorNet
from cgnas.model.dagflow import DAGFlowEncoder
from cgnas.model.encoder import GraphEncoder, mean_adjacency
from cgnas.train.supervised import TrainConfig

SMALL = EncoderConfig(hidden=16, embed_dim=12, kind="dagflow")


@pytest.fixture(scope="module")
def nb201_graphs() -> GraphSet:
    space = cgnas.space("nb201")
    return GraphSet.from_cgs([space.to_cg(space.sample(random.Random(i))) for i in range(3)], "nb201")


def diamond_and_chain() -> GraphSet:
    """Graph 0: input -> conv -> relu -> bn, input -> conv(1x1), add, output (a diamond with a
    long and a short branch). Graph 1: a chain input -> relu -> relu -> output."""
    b = GraphBuilder((3, 8, 8), name="diamond")
    long = b.bn(b.relu(b.conv(b.input, 4)))         # nodes 1, 2, 3
    short = b.conv(b.input, 4, k=1)                  # node 4
    diamond = b.build(b.add(long, short))            # add 5, output 6
    c = GraphBuilder((3, 8, 8), name="chain")
    chain = c.build(c.relu(c.relu(c.input)))
    return GraphSet.from_cgs([diamond, chain])


# ---------------------------------------------------------------- levels
def test_levels_of_hand_made_graphs():
    graphs = diamond_and_chain()
    assert graphs.levels().tolist() == [0, 1, 2, 3, 1, 4, 5] + [0, 1, 2, 3]
    batch = graphs.batch([1, 0])  # levels travel with their nodes
    assert batch.level.tolist() == [0, 1, 2, 3] + [0, 1, 2, 3, 1, 4, 5]


def test_levels_increase_along_every_edge(nb201_graphs):
    # the encoder relies on it: nodes are stored in topological order, edges go source -> consumer
    for g in range(len(nb201_graphs)):
        _, edges = nb201_graphs.graph_arrays(g)
        assert (edges[0] < edges[1]).all()
    batch = nb201_graphs.batch([2, 0, 1])
    src, dst = batch.edge_index
    assert (batch.level[src] < batch.level[dst]).all()
    assert int(batch.level.max()) > 50  # whole networks are deep: far beyond 4 local layers


def test_levels_reject_edges_against_node_order():
    graphs = diamond_and_chain()
    graphs.edges = graphs.edges[::-1].copy()  # every edge reversed
    with pytest.raises(CgnasError, match="topological order"):
        graphs.levels()


# ------------------------------------------------- batched == per-node reference
def reference_embeddings(enc: DAGFlowEncoder, graphs: GraphSet) -> torch.Tensor:
    """The module doc's equations, one node at a time with ``nn.GRUCell``, one graph at a time."""
    ops, feats = graphs.features()
    out = []
    for g in range(len(graphs)):
        nodes = slice(graphs.node_ptr[g], graphs.node_ptr[g + 1])
        _, edges = graphs.graph_arrays(g)
        n = int(graphs.num_nodes[g])
        preds = [[] for _ in range(n)]
        succs = [[] for _ in range(n)]
        for u, v in edges.T.tolist():
            preds[v].append(u)
            succs[u].append(v)
        x = enc.op_embedding(torch.from_numpy(ops[nodes])) + enc.feature_proj(torch.from_numpy(feats[nodes]))
        zero = torch.zeros(1, enc.config.hidden)
        h: list[torch.Tensor] = [zero] * n
        for v in range(n):
            m = sum((enc.forward_message(h[u]) for u in preds[v]), zero) / max(1, len(preds[v]))
            h[v] = enc.forward_cell(x[v:v + 1], m)
        gs: list[torch.Tensor] = [zero] * n
        for v in reversed(range(n)):
            m = sum((enc.backward_message(gs[w]) for w in succs[v]), zero) / max(1, len(succs[v]))
            gs[v] = enc.backward_cell(torch.cat([x[v:v + 1], h[v]], dim=1), m)
        s = torch.cat(h) + torch.cat(gs)
        attention = torch.softmax(enc.attention_pool.gate_nn(s), dim=0)
        sinks = [v for v in range(n) if not succs[v]]
        size = torch.from_numpy(np.log2(1.0 + np.array([graphs.params[g], graphs.macs[g]])) / 32).float()
        pooled = torch.cat([s.mean(0), (attention * s).sum(0), s[sinks].mean(0), size])
        out.append(enc.readout(pooled))
    return torch.stack(out)


def test_batched_encoder_equals_per_node_reference(nb201_graphs):
    graphs = GraphSet.concat([nb201_graphs, diamond_and_chain()])  # 5 graphs of different depths
    torch.manual_seed(0)
    enc = DAGFlowEncoder(SMALL)
    weights = torch.randn(len(graphs), SMALL.embed_dim)

    batched = enc(graphs.batch(np.arange(len(graphs))))
    (batched * weights).sum().backward()
    grads = {k: p.grad.clone() for k, p in enc.named_parameters()}
    enc.zero_grad()
    reference = reference_embeddings(enc, graphs)
    (reference * weights).sum().backward()

    assert torch.allclose(batched, reference, atol=1e-5)
    for k, p in enc.named_parameters():
        assert torch.allclose(grads[k], p.grad, atol=1e-5, rtol=1e-4), k


def test_embedding_does_not_depend_on_batch_mates(nb201_graphs):
    torch.manual_seed(0)
    enc = DAGFlowEncoder(SMALL).eval()
    with torch.no_grad():
        alone = enc(nb201_graphs.batch([0]))
        mixed = enc(nb201_graphs.batch([2, 0, 1]))
    assert torch.allclose(alone[0], mixed[1], atol=1e-6)


# ------------------------------------------------------------ long-range flow
def test_output_state_depends_on_the_first_conv(nb201_graphs):
    """The first conv is ~100 levels from the output: the DAG flow carries it there (and the
    output back to it), 4 layers of local mean aggregation cannot."""
    batch = nb201_graphs.batch([0])
    ops = np.array(OPS)[batch.op.numpy()]
    first_conv, output = int(np.flatnonzero(ops == "conv")[0]), batch.op.shape[0] - 1
    assert ops[output] == "output" and batch.level[output] - batch.level[first_conv] > 50

    def state_gradients(states, order: torch.Tensor, node: int = output) -> torch.Tensor:
        """Gradient of (``node``'s state, summed) wrt every node's features ``[N]``."""
        rows = {int(v): i for i, v in enumerate(order)}
        (grad,) = torch.autograd.grad(states[rows[node]].sum(), x, retain_graph=True)
        return grad.abs().sum(1)

    torch.manual_seed(0)
    x = batch.x.clone().requires_grad_()
    enc = DAGFlowEncoder(SMALL)
    schedule = enc.schedule(batch)
    states = enc.node_states(GraphBatch(batch.op, x, batch.edge_index, batch.batch, 1, batch.size,
                                        batch.level), schedule)
    # not just non-zero: the carry initialization keeps it far above float32's underflow (1e-38)
    assert state_gradients(states, schedule.perm)[first_conv] > 1e-20
    assert state_gradients(states, schedule.perm, node=first_conv)[output] > 1e-20  # backward pass

    mean = GraphEncoder(EncoderConfig(hidden=16, num_layers=4))
    n = batch.op.shape[0]
    src, dst = batch.edge_index
    h = mean.op_embedding(batch.op) + mean.feature_proj(x)
    for layer in mean.layers:
        h = layer(h, mean_adjacency(src, dst, n), mean_adjacency(dst, src, n))
    assert state_gradients(h, torch.arange(n))[first_conv] == 0


def test_states_stay_bounded_whatever_the_weights(nb201_graphs):
    """Gated means of GRU states: ``|h|, |g| <= 1``, so ``|s| <= 2`` even with huge weights."""
    torch.manual_seed(0)
    enc = DAGFlowEncoder(SMALL)
    with torch.no_grad():
        for p in enc.parameters():
            p.mul_(20)
    batch = nb201_graphs.batch([0, 1, 2])
    states = enc.node_states(batch, enc.schedule(batch))
    assert states.abs().max() <= 2 and torch.isfinite(states).all()


# ------------------------------------------------------ predictor and config
def test_dagflow_predictor_fits_saves_and_loads(nb201_graphs, tmp_path):
    config = PredictorConfig(encoder=EncoderConfig(hidden=16, embed_dim=16, kind="dagflow"),
                             head_hidden=16, projection_dim=8)
    pred = Predictor(config, seed=0)
    assert isinstance(pred.net.encoder, DAGFlowEncoder)
    labels = np.array([70.0, 80.0, 90.0])
    before = pred.predict(nb201_graphs)
    pred.finetune(nb201_graphs, labels, TrainConfig(epochs=3, batch_size=2), progress=False)
    out = pred.predict(nb201_graphs)
    assert out.shape == (3,) and np.isfinite(out).all() and not np.allclose(out, before)
    again = Predictor.load(pred.save(tmp_path / "dag.pt"))
    assert again.config.encoder.kind == "dagflow"
    assert np.array_equal(again.predict(nb201_graphs), out)


def test_encoder_kind_in_configs():
    assert isinstance(PredictorNet(PredictorConfig()).encoder, GraphEncoder)
    # checkpoints from before the DAG-flow encoder have no "kind": they are mean encoders
    old = PredictorConfig().to_dict()
    del old["encoder"]["kind"]
    assert PredictorConfig.from_dict(old).encoder.kind == "mean"
    with pytest.raises(CgnasError, match="kind.*'mean', 'dagflow'.*'gat'"):
        EncoderConfig(kind="gat")


def test_dagflow_needs_levels(nb201_graphs):
    b = nb201_graphs.batch([0])
    bare = GraphBatch(b.op, b.x, b.edge_index, b.batch, b.num_graphs, b.size)  # no level field
    with pytest.raises(CgnasError, match="levels"):
        DAGFlowEncoder(SMALL)(bare)
