"""`python -m xlpipeline …`: the same command as `xlpipeline …`."""
import sys

from xlpipeline.cli import main

sys.exit(main())
