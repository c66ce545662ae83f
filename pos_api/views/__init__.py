"""POS API v1 views: one APIView per operation."""
