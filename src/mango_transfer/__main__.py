from mango_transfer.cli.main import main

main()
