"""`python -m tests.bench [--sections ...]`: the benchmarks, run by `make bench`
against PostgreSQL (DATABASE_URL). `--help` lists the arguments."""
import os
import sys

import django


def main(argv=None):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings")
    django.setup()
    from .run import main as run  # the sections import models: only after setup

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
