"""The curators' web page (``anniversary-bot serve``): the same library as the CLI, in a browser."""
