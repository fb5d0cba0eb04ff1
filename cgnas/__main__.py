import sys

from cgnas.cli import main

sys.exit(main())
