"""The command line's one error boundary: every failure is one line on stderr and an exit status.

    exit 0     done
    exit 1     a project error (`protocol.errors.MassarError`): the line says what to fix;
               with --json, stdout also gets {"error": code, "message": ...}
    exit 2     a usage error (argparse)
    exit 70    a bug: an exception that is no MassarError (MASSAR_DEBUG=1 prints its traceback)
    exit 130   interrupted (Ctrl-C)

Only the error's `code` and message are read: no guessing from its class.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

from protocol.errors import MassarError

from .output import fail

EXIT_ERROR = 1
EXIT_BUG = 70  # EX_SOFTWARE in sysexits.h
EXIT_INTERRUPTED = 130


def handled(args: Any) -> int:
    as_json = bool(getattr(args, "json", False))
    try:
        result = args.handler(args)
    except MassarError as exc:
        return fail(str(exc), code=exc.code, as_json=as_json, status=EXIT_ERROR)
    except KeyboardInterrupt:
        return fail("interrupted", code="interrupted", as_json=as_json, status=EXIT_INTERRUPTED)
    except Exception as exc:
        if os.environ.get("MASSAR_DEBUG"):
            traceback.print_exc(file=sys.stderr)
        message = f"internal error ({type(exc).__name__}: {exc}); please report it (MASSAR_DEBUG=1 shows the details)"
        return fail(message, code="internal_error", as_json=as_json, status=EXIT_BUG)
    return int(result or 0)
