import TenantCLI

MoleculeTenant.prepareProcess()
await MoleculeTenant.runAndExit()
