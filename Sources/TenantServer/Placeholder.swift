// The tenant API lands here (server issue).
enum TenantServerModule {}
