package provider

// Control maps one control of a compliance framework to the Kaigi feature
// that meets it and the tests that prove the feature works. The Trust
// Center publishes the table; TestEveryControlNamesTestsThatExist checks
// that every test named here is a test function in the repository.
type Control struct {
	Framework string   `json:"framework" doc:"GDPR, HIPAA, SOC 2 or ISO 27001."`
	ID        string   `json:"id" doc:"The control's reference in its framework, e.g. Art. 32 or A.8.24."`
	Title     string   `json:"title"`
	Feature   string   `json:"feature" doc:"The Kaigi feature that meets it."`
	Docs      string   `json:"docs,omitempty" doc:"Where the feature is described (a path in the repository)."`
	Tests     []string `json:"tests" doc:"Go test functions that prove it."`
}

// Frameworks, in the order the Trust Center shows them.
var Frameworks = []string{"GDPR", "HIPAA", "SOC 2", "ISO 27001"}

// Controls is the compliance mapping.
var Controls = []Control{
	// GDPR
	{"GDPR", "Art. 5(1)(e)", "Storage limitation", "Retention policies delete what is past its time; legal holds keep only what is held", "docs/retention.md",
		[]string{"TestRetentionDeletesEveryTraceAndKeepsWhatIsHeld", "TestRetentionJobResumesAfterRestart"}},
	{"GDPR", "Art. 28(3)(g)", "Deletion or return of all personal data after the end of the service", "90 days of read-only access with the full export, then deletion by day 180 (or earlier at the customer's confirmed request) with a signed certificate", "docs/trust-center.md",
		[]string{"TestTenantLifecycleEndsInProvenDeletion", "TestAcceleratedDeletionNeedsACodeAndThreeDays", "TestContractLifecycleAccessRules"}},
	{"GDPR", "Art. 15 & 20", "Right of access and to data portability", "A person exports their own data; the export is signed and verifies outside Kaigi", "docs/export-format.md",
		[]string{"TestOwnDataAndTenantExportsVerify"}},
	{"GDPR", "Art. 17", "Right to erasure", "Erasing a person pseudonymises and deletes their data except what a legal hold keeps", "docs/retention.md",
		[]string{"TestEraseAPersonPseudonymisesAndDeletesExceptWhatIsHeld", "TestRetentionEraseAccount"}},
	{"GDPR", "Art. 28(2)", "Prior notice of other processors", "Subprocessor registry with enforced notice periods, notifications and objections", "docs/trust-center.md",
		[]string{"TestSubprocessorNoticePeriodsAndRefusals", "TestSubprocessorNotificationsReachEveryChannel"}},
	{"GDPR", "Art. 32(1)(a)", "Encryption of personal data", "Content sealed at rest with per-tenant keys (AES-256-GCM, bound by AAD)", "docs/architecture.md",
		[]string{"TestConfidentiality", "TestMoveIntegrity", "TestMessageContentNeverReachesDisk"}},
	{"GDPR", "Art. 33", "Records of processing and breaches", "Append-only, hash-chained audit log with signed checkpoints", "docs/audit.md",
		[]string{"TestAuditChain", "TestAuditVerifyFindsTheChangedRecord"}},
	// HIPAA
	{"HIPAA", "§164.312(a)(1)", "Access control", "Every route has an explicit authorization decision for every kind of actor", "docs/architecture.md",
		[]string{"TestEveryRouteDecidesForEveryActor", "TestRouteWithoutPolicyCannotBeRegistered"}},
	{"HIPAA", "§164.312(b)", "Audit controls", "Audit log of every change and every read of content by admins, officers, operators and jobs", "docs/audit.md",
		[]string{"TestAuditSearchByOfficersAndAdmins", "TestAuditWebhookSinkDeliversEveryRecordOnceInOrder"}},
	{"HIPAA", "§164.312(c)(1)", "Integrity", "Authenticated encryption and hash chains detect one changed byte", "docs/audit.md",
		[]string{"TestIntegrity_FlippedByteFails", "TestAuditVerifyFindsTheChangedRecord"}},
	{"HIPAA", "§164.312(d)", "Person or entity authentication", "Passwords with throttling, TOTP and passkeys (WebAuthn); phishing-resistant policies", "",
		[]string{"TestRepeatedWrongPasswordsAreThrottledAndLocked", "TestPasskeyEnrolmentThenPasswordlessSignIn", "TestPhishingResistantPolicyNeedsAPasskey"}},
	{"HIPAA", "§164.312(e)(1)", "Transmission security", "TLS with modern AEAD suites only; HSTS", "",
		[]string{"TestTLSAcceptsOnlyModernAEADSuites", "TestSecurityHeaders"}},
	// SOC 2
	{"SOC 2", "CC6.1", "Logical access security", "Operators reach no tenant content outside the lockbox", "docs/lockbox.md",
		[]string{"TestOperatorsReachNoContentOutsideTheLockbox", "TestLockboxRequestToReadAndEveryRefusal"}},
	{"SOC 2", "CC6.6", "Restriction of access from outside", "Conditional access by location and sign-in state", "",
		[]string{"TestLocationPolicyBlocksAndTheLogSaysWhy", "TestANewAddressIsCheckedAgainstConditionalAccess"}},
	{"SOC 2", "CC7.2", "Monitoring of system components", "Audit streaming to SIEM (signed webhooks, syslog over TLS); readiness checks", "docs/audit.md",
		[]string{"TestAuditSyslogSinkOverTLS", "TestReadyzReportsAFailedDependency"}},
	{"SOC 2", "CC9.2", "Vendor and business partner risk", "Subprocessor registry published as a signed feed", "docs/trust-center.md",
		[]string{"TestSubprocessorFeedsAreSignedAndValid"}},
	{"SOC 2", "C1.2", "Disposal of confidential information", "Key shredding makes whatever remains unreadable; a tenant is deleted by day 180 after its contract's end, with a signed certificate", "docs/trust-center.md",
		[]string{"TestShredding", "TestShredding_RestoredWrappedKeysStayUseless", "TestTenantLifecycleEndsInProvenDeletion", "TestTenantDeletionResumesAfterARestart"}},
	// ISO 27001 (2022, Annex A)
	{"ISO 27001", "A.5.19", "Information security in supplier relationships", "Subprocessor registry, notice periods and objections", "docs/trust-center.md",
		[]string{"TestSubprocessorNoticePeriodsAndRefusals", "TestSubprocessorRegistryRoundTrip"}},
	{"ISO 27001", "A.5.33", "Protection of records", "Hash-chained audit log and legal-request ledger", "docs/audit.md",
		[]string{"TestAuditChain", "TestLegalRequestWorkflowRefusalsAndNotice"}},
	{"ISO 27001", "A.8.5", "Secure authentication", "Second factors, passkeys, single-use ceremonies", "",
		[]string{"TestSignInWithTOTPAndReplayRefused", "TestPasskeyCeremoniesAreSingleUse"}},
	{"ISO 27001", "A.8.15", "Logging", "Audit log, access-transparency log with proofs anyone can check", "docs/lockbox.md",
		[]string{"TestTransparencyLogProofs", "TestTransparencyVerifyOffline"}},
	{"ISO 27001", "A.8.24", "Use of cryptography", "Envelope encryption, key rotation, unique nonces", "docs/architecture.md",
		[]string{"TestRotation", "TestUniqueNonces"}},
	{"ISO 27001", "A.5.34", "Privacy and protection of PII", "Content never reaches logs, metrics or disk in clear", "",
		[]string{"TestCanaryNeverReachesDisk", "TestErrorsDoNotLeakPlaintext"}},
}
