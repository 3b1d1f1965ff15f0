from science_service.cli import main

main()
