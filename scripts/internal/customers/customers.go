// Package customers signs customers in to a deployed stack's Cognito user pool, for the demo,
// `make token` and the end-to-end tests: the customer is the access token's sub, and every
// route but GET /products wants the token as "Authorization: Bearer <token>".
package customers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
)

// Pool is the stack's user pool and its app client (stack outputs UserPoolId, UserPoolClientId).
type Pool struct {
	Client           *cip.Client
	PoolID, ClientID string
}

// New returns the user pool of a deployed stack.
func New(s *deployed.Stack) *Pool {
	return &Pool{Client: cip.NewFromConfig(s.AWS), PoolID: s.Output("UserPoolId"), ClientID: s.Output("UserPoolClientId")}
}

// Customer is a signed-in customer.
type Customer struct {
	Username    string
	Password    string
	Sub         string // the customer id orders carry
	AccessToken string
	IDToken     string
	ExpiresIn   int32 // seconds
}

// Provision makes sure username exists with a fresh random password, confirmed, and signs it
// in. It needs Cognito admin rights (AdminCreateUser, AdminSetUserPassword), as the account's
// owner or the local emulator has; customers of a real shop sign up themselves (SignUp).
func (p *Pool) Provision(ctx context.Context, username string) (Customer, error) {
	_, err := p.Client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(p.PoolID), Username: aws.String(username), MessageAction: ciptypes.MessageActionTypeSuppress,
	})
	var exists *ciptypes.UsernameExistsException
	if err != nil && !errors.As(err, &exists) {
		return Customer{}, fmt.Errorf("create customer %s: %w", username, err)
	}
	password := NewPassword()
	if _, err := p.Client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(p.PoolID), Username: aws.String(username), Password: aws.String(password), Permanent: true,
	}); err != nil {
		return Customer{}, fmt.Errorf("set the password of %s: %w", username, err)
	}
	return p.SignIn(ctx, username, password)
}

// SignIn signs a customer in with USER_PASSWORD_AUTH, Cognito's own API (what curl or a
// browser app would call: InitiateAuth on the app client).
func (p *Pool) SignIn(ctx context.Context, username, password string) (Customer, error) {
	out, err := p.Client.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId: aws.String(p.ClientID), AuthFlow: ciptypes.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": password},
	})
	if err != nil {
		return Customer{}, fmt.Errorf("sign in %s: %w", username, err)
	}
	r := out.AuthenticationResult
	if r == nil {
		return Customer{}, fmt.Errorf("sign in %s: Cognito asks for a challenge (%s) instead of issuing tokens", username, out.ChallengeName)
	}
	c := Customer{Username: username, Password: password, AccessToken: aws.ToString(r.AccessToken), IDToken: aws.ToString(r.IdToken), ExpiresIn: r.ExpiresIn}
	claims, err := Claims(c.AccessToken)
	if err != nil {
		return Customer{}, fmt.Errorf("sign in %s: %w", username, err)
	}
	c.Sub, _ = claims["sub"].(string)
	if c.Sub == "" {
		return Customer{}, fmt.Errorf("sign in %s: the access token has no sub", username)
	}
	return c, nil
}

// Claims decodes a JWT's payload, without checking anything: the API's authorizer checks.
func Claims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("JWT payload: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		return nil, fmt.Errorf("JWT payload: %w", err)
	}
	return claims, nil
}

// NewPassword is a random password that meets the pool's policy (12+ characters, upper and
// lower case, a digit and a symbol).
func NewPassword() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "Of-" + hex.EncodeToString(b[:]) + "!9a"
}
