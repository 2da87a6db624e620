// Namespace access rules and the memory redactor land here (server issue).
enum MemoryAccessModule {}
