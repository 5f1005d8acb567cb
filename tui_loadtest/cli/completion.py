"""Shell completion for bash, zsh and fish, by argcomplete.

``tui-loadtest completion SHELL`` prints the code that a shell's start-up file
evaluates; the shell then runs ``tui-loadtest`` with ``_ARGCOMPLETE`` set for
each Tab, and :func:`complete` answers from the real parser (commands, flags,
files). argcomplete is imported only then, so ``--help`` stays as fast as before.
"""

from __future__ import annotations

import argparse
import os
import sys

SHELLS = ("bash", "zsh", "fish")
PROG = "tui-loadtest"

HOW_TO = """\
turn it on (once, in the shell's start-up file):
  bash   ~/.bashrc:                    eval "$(tui-loadtest completion bash)"
  zsh    ~/.zshrc (after compinit):    eval "$(tui-loadtest completion zsh)"
  fish   ~/.config/fish/config.fish:   tui-loadtest completion fish | source
"""


def asked() -> bool:
    """True when a shell runs us to complete a command line (not to run it)."""
    return "_ARGCOMPLETE" in os.environ


def complete(parser: argparse.ArgumentParser) -> None:
    """Print the completions for the shell's command line and exit."""
    import argcomplete

    argcomplete.autocomplete(parser)


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser(
        "completion",
        help="print shell completion code (bash, zsh or fish)",
        description="Print the code that turns on Tab completion of tui-loadtest in SHELL.",
        epilog=HOW_TO,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    cmd.set_defaults(handler=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    import argcomplete

    sys.stdout.write(argcomplete.shellcode([PROG], shell=args.shell))
    return 0
