"""The school node: its store, sync agent, web app and the `massar` CLI."""
