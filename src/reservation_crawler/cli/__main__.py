"""``python -m reservation_crawler.cli ARGS`` = ``reservation-crawler ARGS``."""

import sys

from reservation_crawler.cli import main

if __name__ == "__main__":  # not when a spawned child (the audit writer) imports it
    sys.exit(main())
