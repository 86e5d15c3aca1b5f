import CNetCommands

#if canImport(Glibc)
  import Glibc
#endif

exit(CNet.runBlocking())
