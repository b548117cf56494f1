"""The one place each private or unexported name of a dependency is reached."""
