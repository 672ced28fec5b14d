// Wiring of datapath, flow assembly, metrics and server into one agent.
