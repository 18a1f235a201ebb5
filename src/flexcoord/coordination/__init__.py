"""TSO–DSO coordination: schemes, allocation, bid forwarding, interface aggregation."""
