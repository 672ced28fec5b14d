// The metric engine: handlers, option grammar, label contexts, series store and exposition.
