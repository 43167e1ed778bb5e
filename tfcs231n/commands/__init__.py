"""Command implementations behind `tfcs231n.cli`; each module adds one subcommand's parser."""
