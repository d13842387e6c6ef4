"""A scripted automation the engine tests register for every job kind.

`filtro` holds the script: steps separated by ';', e.g. "progress:50;sleep:1" or "fail:auth".
It exercises the engine without a browser; the carriers have their own tests.
"""

import os
import time
from pathlib import Path

from jobs.automation import AutomationError, JobContext


def scripted(ctx: JobContext) -> str:
    for step in ctx.params.get("filtro", "").split(";"):
        name, _, arg = step.partition(":")
        if name == "progress":
            ctx.progress(int(arg), f"Passo {arg}%")
        elif name == "sleep":
            time.sleep(float(arg))
        elif name == "log":
            ctx.log("INFO", arg)
        elif name == "leak":
            # An automation that carelessly logs its inputs.
            ctx.log("WARNING", f"tentando login {ctx.secrets['login']} com senha {ctx.secrets['senha']}")
        elif name == "pidfile":
            Path(arg).write_text(str(os.getpid()))
        elif name == "fail":
            raise AutomationError(f"Falha de autenticação na operadora {ctx.kind}", category=arg or "auth")
        elif name == "crash":
            raise RuntimeError(f"unexpected state with password {ctx.secrets['senha']}")
        elif name == "artifact":
            ctx.artifact(arg, b"%PDF-1.4 test artifact")
        elif name == "empty":
            return ""
    return f"faturas/{ctx.kind.lower()}_202401.pdf"
