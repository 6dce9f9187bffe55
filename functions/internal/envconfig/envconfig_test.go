package envconfig

import (
	"reflect"
	"strings"
	"testing"
)

type config struct {
	Table string `env:"TABLE"`
	Bus   string `env:"BUS"`
	Other int
}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr string
	}{
		{name: "all set", env: map[string]string{"TABLE": "t", "BUS": " b "}, want: config{Table: "t", Bus: "b"}},
		{name: "one missing", env: map[string]string{"TABLE": "t"}, wantErr: "BUS"},
		{name: "blank counts as missing", env: map[string]string{"TABLE": " ", "BUS": "b"}, wantErr: "TABLE"},
		{name: "all missing named", env: nil, wantErr: "TABLE, BUS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got config
			err := Load(lookupIn(tc.env), &got)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if err := Load(lookupIn(nil), config{}); err == nil {
		t.Error("Load(non-pointer) = nil, want an error")
	}
}

// Shared variables moved into an embedded or nested struct stay required; a tagged field Load
// cannot set is an error, not a panic.
func TestLoadNestedAndUnexported(t *testing.T) {
	type common struct {
		DLQ string `env:"DLQ_URL"`
	}
	var cfg struct {
		common
		Tables struct {
			Orders string `env:"ORDERS_TABLE"`
		}
		Bus string `env:"BUS"`
	}
	err := Load(lookupIn(map[string]string{"BUS": "b"}), &cfg)
	if err == nil || !strings.Contains(err.Error(), "DLQ_URL, ORDERS_TABLE") {
		t.Errorf("err = %v, want the embedded and the nested variables named missing", err)
	}
	if err := Load(lookupIn(map[string]string{"BUS": "b", "DLQ_URL": "q", "ORDERS_TABLE": "o"}), &cfg); err != nil || cfg.DLQ != "q" || cfg.Tables.Orders != "o" {
		t.Errorf("Load = %v, cfg %+v", err, cfg)
	}
	var unexported struct {
		table string `env:"TABLE"`
	}
	if err := Load(lookupIn(map[string]string{"TABLE": "t"}), &unexported); err == nil || !strings.Contains(err.Error(), "exported string") {
		t.Errorf("Load(unexported field) = %v, want an error", err)
	}
	_ = unexported.table
}

func TestPairs(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{in: "arn:a=email, arn:b=sms", want: map[string]string{"arn:a": "email", "arn:b": "sms"}},
		{in: "arn:a=https://q/x?y=1", want: map[string]string{"arn:a": "https://q/x?y=1"}},
		{in: "arn:a=email,", want: map[string]string{"arn:a": "email"}},
		{in: "", wantErr: true},
		{in: "arn:a", wantErr: true},
		{in: "=email", wantErr: true},
		{in: "arn:a=", wantErr: true},
		{in: "arn:a=email,arn:a=sms", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Pairs(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPositiveInt(t *testing.T) {
	for in, want := range map[string]int{"3": 3, " 10 ": 10, "1": 1, "0": 0, "-2": 0, "three": 0, "": 0, "2.5": 0} {
		got, err := PositiveInt(in)
		if got != want || (err != nil) != (want == 0) {
			t.Errorf("PositiveInt(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
