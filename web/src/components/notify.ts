import { notifications } from "@mantine/notifications";
import { problemMessage } from "../api/problem";

export function notifyError(error: unknown, title = "Request failed"): void {
  notifications.show({ color: "red", title, message: problemMessage(error), autoClose: 8000 });
}

export function notifySuccess(message: string): void {
  notifications.show({ color: "teal", message, autoClose: 4000 });
}
