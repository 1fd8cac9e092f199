"""Code that runs inside a lesson's namespace: tests send each module's source as one more cell (see
forked_runs.ForkServer) after the lesson's own cells. Real modules, so they are linted and read like the rest."""
