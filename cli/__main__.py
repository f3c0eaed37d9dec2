"""`python -m cli ...`: the same as the `massar` console script."""

from . import main

raise SystemExit(main())
