"""``claimwatch`` / ``python -m ops``: one entry point, one sub-command per operator task.

Each command lives in its own module and exposes ``main(argv: list[str]) -> int``; it is
imported only when run, so ``claimwatch replay`` never imports torch.
"""

from __future__ import annotations

import importlib
import sys

# name -> ("module:function", one-line help). Keep sorted by name.
COMMANDS: dict[str, tuple[str, str]] = {
}


def usage() -> str:
    width = max((len(n) for n in COMMANDS), default=0)
    lines = ["usage: claimwatch COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_}" for name, (_, help_) in sorted(COMMANDS.items())]
    lines += ["", "Run 'claimwatch COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"claimwatch: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, func_name = COMMANDS[name][0].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    return int(func(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
