DROP TABLE IF EXISTS memory_plugin.memory_records;
DROP TABLE IF EXISTS memory_plugin.memory_namespaces;
