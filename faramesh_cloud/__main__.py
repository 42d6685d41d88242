from faramesh_cloud.cli.main import main

main()
