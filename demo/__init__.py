"""The demo shop: a simulator of shoppers and `seed_demo` (not needed in production)."""
