"""Training: contrastive pre-training of the encoder, head training and fine-tuning."""
