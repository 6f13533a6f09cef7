"""Program enrolment: new customers, new subscribers and abandoned baskets into the dotmailer programs chosen
in connector.yaml, each contact once per program, within dotmailer's 20 enrolment calls per hour."""
