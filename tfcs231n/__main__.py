import sys

from tfcs231n.cli import main

sys.exit(main())
