"""Signal receivers of the shop pages and the shopper's data (connected by RecommendationsConfig.ready)."""
