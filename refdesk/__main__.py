from refdesk.cli import main

main()
