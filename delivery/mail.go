package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/bank/caseservice/config"
)

// TLS policies for SMTP.
const (
	SMTPStartTLS = "starttls" // STARTTLS required
	SMTPTLS      = "tls"      // implicit TLS (SMTPS)
	SMTPPlain    = "none"     // no TLS: local relays and tests only
)

// Mailer sends email through an SMTP server.
type Mailer struct {
	config.SMTP
}

// Mail sends one email.
func (m *Mailer) Mail(ctx context.Context, e Email) error {
	msg := mail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return fmt.Errorf("mail from %q: %w", m.From, err)
	}
	if err := msg.To(e.To); err != nil {
		return fmt.Errorf("mail to %q: %w", e.To, err)
	}
	msg.Subject(e.Subject)
	msg.SetMessageIDWithValue(e.MessageID)
	msg.SetBodyString(mail.TypeTextPlain, e.Text)

	opts := []mail.Option{mail.WithPort(m.Port), mail.WithTimeout(30 * time.Second)}
	switch m.TLS {
	case SMTPTLS:
		opts = append(opts, mail.WithSSL())
	case SMTPPlain:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if m.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(m.Username), mail.WithPassword(m.Password))
	}
	client, err := mail.NewClient(m.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail via %s:%d: %w", m.Host, m.Port, err)
	}
	return nil
}
