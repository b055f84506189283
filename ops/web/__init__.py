"""Web pages for the people of the network: server-rendered over the same use cases."""
