from tessera_cli.main import main

main()
