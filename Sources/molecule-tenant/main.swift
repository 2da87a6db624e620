import TenantCLI

await MoleculeTenant.runAndExit()
