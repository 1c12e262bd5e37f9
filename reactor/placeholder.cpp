// placeholder until the reactor lands
