"""``python -m reservation_crawler.cli ARGS`` = ``reservation-crawler ARGS``."""

import sys

from reservation_crawler.cli import main

sys.exit(main())
