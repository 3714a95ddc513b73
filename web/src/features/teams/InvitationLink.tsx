import { Button, Code, CopyButton, Stack, Text } from "@mantine/core";

/** The sign-up link for an invitation to an email without an account. The token is shown
 * once, in the gateway's answer to the invitation; the inviter passes the link on. */
export function invitationLink(token: string, email: string): string {
  const url = new URL("/signup", window.location.origin);
  url.searchParams.set("invitation", token);
  url.searchParams.set("email", email);
  return url.toString();
}

export function InvitationLink({ link, email }: { link: string; email: string }) {
  return (
    <Stack>
      <Text size="sm">
        {email} has no account yet. Send them this link to sign up and join the team; it is shown only now and
        works once, for this email, for 7 days.
      </Text>
      <Code block style={{ wordBreak: "break-all", whiteSpace: "pre-wrap" }} data-testid="invitation-link">
        {link}
      </Code>
      <CopyButton value={link}>
        {({ copied, copy }) => (
          <Button onClick={copy} color={copied ? "teal" : undefined}>
            {copied ? "Copied" : "Copy link"}
          </Button>
        )}
      </CopyButton>
    </Stack>
  );
}
