package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Identity is who may order: a Cognito user pool of customers and the app client that signs
// them in. The HTTP API's JWT authorizer accepts the pool's tokens for that client, and the
// customer is the token's sub.
type Identity struct {
	Pool   awscognito.UserPool
	Client awscognito.UserPoolClient
}

// NewIdentity defines the customers' user pool: sign-up open (a shop), a strong password
// policy, e-mail verification and recovery, optional TOTP MFA; and one public app client (no
// secret) with USER_PASSWORD_AUTH, so that any client (curl, a test, a browser app) can get a
// token from Cognito's own API, and SRP for clients that prefer not to send the password.
func NewIdentity(scope constructs.Construct) *Identity {
	s := constructs.NewConstruct(scope, jsii.String("Identity"))
	pool := awscognito.NewUserPool(s, jsii.String("Customers"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(true),
		SignInAliases:     &awscognito.SignInAliases{Username: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		// A changed e-mail address takes effect once its code is confirmed: until then account
		// recovery still goes to the verified one (someone holding a session cannot redirect it).
		KeepOriginal:    &awscognito.KeepOriginalAttrs{Email: jsii.Bool(true)},
		AccountRecovery: awscognito.AccountRecovery_EMAIL_ONLY,
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(12), RequireLowercase: jsii.Bool(true), RequireUppercase: jsii.Bool(true),
			RequireDigits: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		Mfa:                awscognito.Mfa_OPTIONAL,
		MfaSecondFactor:    &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		DeletionProtection: jsii.Bool(false),
		// A reference app is deployed to learn and torn down again; keep users with RETAIN in production.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	client := pool.AddClient(jsii.String("Api"), &awscognito.UserPoolClientOptions{
		AuthFlows:                  &awscognito.AuthFlow{UserPassword: jsii.Bool(true), UserSrp: jsii.Bool(true)},
		GenerateSecret:             jsii.Bool(false),
		DisableOAuth:               jsii.Bool(true),
		PreventUserExistenceErrors: jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
		EnableTokenRevocation:      jsii.Bool(true),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(pool, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-COG2"),
		Reason: jsii.String("MFA is optional (TOTP) so that a learner, a test or curl can sign in with a password; require it (Mfa_REQUIRED) for real customers."),
	}, {
		Id:     jsii.String("AwsSolutions-COG3"),
		Reason: jsii.String("Threat protection (advanced security) needs the Plus feature plan, a cost a reference app should not impose; turn it on (FeaturePlan PLUS, StandardThreatProtectionMode FULL_FUNCTION) for real customers."),
	}, {
		Id:     jsii.String("AwsSolutions-COG8"),
		Reason: jsii.String("The Plus feature plan (threat protection, compromised-credential checks) is a per-user cost a reference app should not impose; choose it for real customers."),
	}}, jsii.Bool(true))
	return &Identity{Pool: pool, Client: client}
}
