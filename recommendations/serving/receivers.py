"""Signal receivers of serving (connected by RecommendationsConfig.ready)."""
