"""The ``lakehouse`` command line: thin Typer commands over the core package.

One module per verb; each exposes ``register(app)``. Core modules never import this package.
"""
