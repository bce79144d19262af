"""What the TMS does, independent of HTTP: the API's routers and the pages both call these."""
