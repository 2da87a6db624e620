// The plugin client lands here (server issue).
enum MemoryPluginClientModule {}
