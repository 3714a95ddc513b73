import { Alert, Anchor, Button, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useState } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { problemMessage } from "../../api/problem";
import { markFieldErrors } from "../../components/formErrors";
import { sessionFrom } from "../../api/session";
import { useAppDispatch, useAppSelector } from "../../hooks";
import { dnsLabelError, PASSWORD_RULES, passwordError } from "../../validation";
import { useLoginMutation, useSignupMutation } from "./authApi";
import { selectSession, signedIn } from "./authSlice";
import { CenteredCard } from "./CenteredCard";

export function SignupPage() {
  const session = useAppSelector(selectSession);
  const dispatch = useAppDispatch();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const invitation = params.get("invitation");
  const [signup, signupState] = useSignupMutation();
  const [login, loginState] = useLoginMutation();
  const [alerted, setAlerted] = useState(false);
  const form = useForm({
    mode: "controlled",
    validateInputOnChange: true,
    initialValues: { username: "", email: params.get("email") ?? "", password: "", display_name: "" },
    validate: {
      username: (v) => (v.length < 2 ? "At least 2 characters" : v.length > 39 ? "At most 39 characters" : dnsLabelError(v)),
      email: (v) => (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? null : "Enter a valid email address"),
      password: passwordError,
    },
  });
  if (session) return <Navigate to="/" replace />;

  const submit = form.onSubmit(async (values) => {
    const created = await signup({
      username: values.username,
      email: values.email,
      password: values.password,
      display_name: values.display_name.trim() || null,
      invitation_token: invitation,
    });
    if (created.error) {
      // A taken username or email is marked on its field; the alert says anything else.
      setAlerted(!markFieldErrors(form, created.error));
      return;
    }
    const tokens = await login({ login: values.username, password: values.password });
    if ("data" in tokens && tokens.data) {
      dispatch(signedIn(sessionFrom(tokens.data)));
      navigate("/", { replace: true });
    }
  });
  const error = (alerted ? signupState.error : undefined) ?? loginState.error;

  return (
    <CenteredCard>
      <Title order={2}>Create your account</Title>
      {invitation && (
        <Text c="dimmed" size="sm">
          You were invited to a team: sign up with the invited email to join it.
        </Text>
      )}
      <form onSubmit={submit} noValidate>
        <Stack mt="md">
          {error && (
            <Alert color="red" title="Could not sign up" role="alert">
              {problemMessage(error)}
            </Alert>
          )}
          <TextInput
            label="Username"
            description="Lowercase letters, digits and '-'"
            autoComplete="username"
            {...form.getInputProps("username")}
          />
          <TextInput label="Email" type="email" autoComplete="email" {...form.getInputProps("email")} />
          <TextInput label="Display name (optional)" {...form.getInputProps("display_name")} />
          <PasswordInput
            label="Password"
            description={PASSWORD_RULES}
            autoComplete="new-password"
            {...form.getInputProps("password")}
          />
          <Button type="submit" loading={signupState.isLoading || loginState.isLoading}>
            Sign up
          </Button>
          <Text size="sm">
            Already have an account?{" "}
            <Anchor component={Link} to="/login">
              Log in
            </Anchor>
          </Text>
        </Stack>
      </form>
    </CenteredCard>
  );
}
