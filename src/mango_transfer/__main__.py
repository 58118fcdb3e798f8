"""``python -m mango_transfer``.  Guarded: the embedded server's child process (spawn) imports
the parent's main module, which must not run the command line a second time."""

from mango_transfer.cli.main import main

if __name__ == "__main__":
    main()
