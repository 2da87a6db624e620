// run --embedded: private PostgreSQL and Redis (server issue).
enum EmbeddedServicesModule {}
