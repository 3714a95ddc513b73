import { problemFields } from "../api/problem";
import { notifyError } from "./notify";

interface FieldErrorTarget<Values> {
  values: Values;
  setFieldError: (path: keyof Values & string, error: string) => void;
}

/** Marks each field of the form that the server's refusal names (a duplicate team name under
 * "Team name"). Returns whether it marked any. */
export function markFieldErrors<Values extends object>(form: FieldErrorTarget<Values>, error: unknown): boolean {
  const fields = Object.entries(problemFields(error)).filter(([name]) => name in form.values);
  for (const [name, message] of fields) form.setFieldError(name as keyof Values & string, message);
  return fields.length > 0;
}

/** Shows a refused submission where it belongs: on the fields it names, else as a
 * notification. The forms' mutations are left out of the store's failure notifications
 * (FORM_ENDPOINTS in store.ts), so every form calls this with what its mutation failed with. */
export function showFormError<Values extends object>(form: FieldErrorTarget<Values>, error: unknown): void {
  if (!markFieldErrors(form, error)) notifyError(error);
}
