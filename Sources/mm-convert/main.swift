import CLI
CommandLineTool.main(Array(CommandLine.arguments.dropFirst()))
